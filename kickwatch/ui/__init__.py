"""The Qt desktop app: tray icon, notifications, settings and history windows (the only Qt code).

Everything here is a client of the headless core: it listens to the monitor's events through
one bridge and changes the store through the repository and settings it is handed.
"""
