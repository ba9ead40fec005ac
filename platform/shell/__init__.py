"""The shell: the pages and page furniture every tenant sees around the modules — workspace chooser, home, global
search, language and store switches, health check, navigation, banners and template filters. It sits on top of the
domain and the engines and may use any of them; nothing below it imports the shell (docs/architecture.md)."""
