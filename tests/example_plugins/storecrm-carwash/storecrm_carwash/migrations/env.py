from storecrm.plugin_host.migrations import run_env

run_env()
