"""The ml-endpoints policy pack's policies. Imports only pulumi_policy and the standard library."""
