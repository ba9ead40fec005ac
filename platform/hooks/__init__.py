"""The pluggy hook contract (project name `storecrm`) and the plugin manager."""
import pluggy

PROJECT = "storecrm"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
