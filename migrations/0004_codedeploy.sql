-- relctl registry, schema 4: CodeDeploy's nouns for the server's CodeDeploy API — applications,
-- deployment groups, custom deployment configs — and which group a deployment was made for.

CREATE TABLE codedeploy_applications (
    name             TEXT PRIMARY KEY NOT NULL,
    application_id   TEXT NOT NULL,
    compute_platform TEXT NOT NULL,
    create_time      REAL NOT NULL
) WITHOUT ROWID;

CREATE TABLE codedeploy_deployment_groups (
    application_name    TEXT NOT NULL REFERENCES codedeploy_applications(name) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    deployment_group_id TEXT NOT NULL,
    definition          TEXT NOT NULL,  -- the CreateDeploymentGroup request as JSON
    PRIMARY KEY (application_name, name)
) WITHOUT ROWID;

CREATE TABLE codedeploy_configs (
    name        TEXT PRIMARY KEY NOT NULL,
    config_id   TEXT NOT NULL,
    definition  TEXT NOT NULL,  -- trafficRoutingConfig as JSON
    create_time REAL NOT NULL
) WITHOUT ROWID;

CREATE TABLE codedeploy_deployments (
    deployment_id         TEXT PRIMARY KEY NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    application_name      TEXT NOT NULL,
    deployment_group_name TEXT NOT NULL,
    description           TEXT,
    revision              TEXT  -- the CreateDeployment revision as JSON
) WITHOUT ROWID;
CREATE INDEX codedeploy_deployments_by_group ON codedeploy_deployments(application_name, deployment_group_name);
