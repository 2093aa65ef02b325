"""The mlep command: plans, reviews and rolls out the ml-endpoints Pulumi program."""
