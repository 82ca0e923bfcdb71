// ink and is-in-ci switch to a non-interactive mode when CI is set; tests render interactively.
delete process.env.CI;
delete process.env.CONTINUOUS_INTEGRATION;
