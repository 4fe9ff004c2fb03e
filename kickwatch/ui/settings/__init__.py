"""The settings dialog: streamers (model/view), notifications, account and advanced tabs.

Values are validated as they are typed with the same rules as the command line
(`Settings.validate`), and saved all together in one transaction or not at all.
"""
