pytest_plugins = ["tests.support.servers", "tests.support.probe_stack"]
