"""Type tokens and tag keys shared with the program (a contract test keeps them in step)."""

ONLINE_ENDPOINT = "azure-native:machinelearningservices:OnlineEndpoint"
ONLINE_DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
ARM_DEPLOYMENT = "azure-native:resources:Deployment"
AUTOSCALE_SETTING = "azure-native:monitor:AutoscaleSetting"
DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"  # an extension resource: no tags
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
PRIVATE_DNS_ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"  # a child resource: no tags
USER_ASSIGNED_IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"  # no tags
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"  # no tags
KEY_VAULT_SECRET = "azure-native:keyvault:Secret"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
METRIC_ALERT = "azure-native:monitor:MetricAlert"
SCHEDULED_QUERY_RULE = "azure-native:monitor:ScheduledQueryRule"
ENDPOINT_ARM_TYPE = "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"

REQUIRED_TAGS = ("owner", "application", "data-sensitivity")
SENSITIVITY_LEVELS = ("public", "internal", "confidential", "restricted")

# Resources that take Azure tags among those the program declares; any other azure-native
# resource with a `tags` input is checked too.
TAGGABLE = frozenset(
    {
        ONLINE_ENDPOINT,
        ONLINE_DEPLOYMENT,
        ARM_DEPLOYMENT,
        AUTOSCALE_SETTING,
        PRIVATE_ENDPOINT,
        USER_ASSIGNED_IDENTITY,
        KEY_VAULT_SECRET,
        ACTION_GROUP,
        METRIC_ALERT,
        SCHEDULED_QUERY_RULE,
    }
)
