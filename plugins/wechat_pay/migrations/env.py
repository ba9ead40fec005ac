from storecrm.sdk.migrations import run_env

run_env()
