pytest_plugins = ["tests.support.servers", "tests.support.stack", "tests.support.probe_stack"]
