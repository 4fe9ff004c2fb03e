"""Alerts elsewhere: the policy's decisions sent to Apprise targets (Discord, ntfy, Telegram...).

`targets` stores the targets (URLs encrypted) and the outbox of what each was sent; `urls` masks
a target URL for every place it is shown; `apprise_io` is the one module that talks to Apprise
(validation, sending, and a guard that keeps URLs out of Apprise's log lines); `dispatcher`
sends each change to each matching target once, from worker threads, with retries; `feed` turns
monitor events into policy decisions for it (go-lives, went-offlines, and changes of a live
stream's title or category). No module here imports Qt.
"""
