"""Type tokens and tag keys shared with the program (a contract test keeps them in step)."""

ONLINE_ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
ONLINE_DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
ARM_DEPLOYMENT = "azure-native:resources:Deployment"
AUTOSCALE_SETTING = "azure-native:monitor:AutoscaleSetting"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"  # an extension resource: no tags
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
PRIVATE_DNS_ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"  # a child resource: no tags
ENDPOINT_ARM_TYPE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"

REQUIRED_TAGS = ("owner", "application", "data-sensitivity")
SENSITIVITY_LEVELS = ("public", "internal", "confidential", "restricted")

# Resources that take Azure tags among those the program declares; any other azure-native
# resource with a `tags` input is checked too.
TAGGABLE = frozenset(
    {ONLINE_ENDPOINT, ONLINE_DEPLOYMENT, ARM_DEPLOYMENT, AUTOSCALE_SETTING, PRIVATE_ENDPOINT}
)
