"""One kickwatch per user and data folder: a second start asks the first to show its settings.

The first instance listens on a QLocalServer named after the user and the data folder; a
second one connects, sends `show`, and exits. A server left behind by a crash is removed
before listening.
"""

from __future__ import annotations

import getpass
import hashlib

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

SHOW = b"show\n"


def server_name(data_dir: str) -> str:
    """The local server name of kickwatch for this user and data folder."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name at all (containers): the folder alone must do
        user = ""
    digest = hashlib.sha256(f"{user}\0{data_dir}".encode()).hexdigest()[:16]
    return f"kickwatch-{digest}"


def ask_running_instance(name: str, timeout_ms: int = 1000) -> bool:
    """Ask a running instance to show itself; True when one answered (then this one exits)."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(SHOW)
    socket.waitForBytesWritten(timeout_ms)
    socket.disconnectFromServer()
    if socket.state() != QLocalSocket.LocalSocketState.UnconnectedState:
        socket.waitForDisconnected(timeout_ms)
    return True


class SingleInstance(QObject):
    """The listening side.

    Signals:
        activation_requested(): another `kickwatch` was started and asks us to show ourselves.
    """

    activation_requested = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.server = QLocalServer(self)
        self.server.newConnection.connect(self.on_server_new_connection)

    def listen(self) -> bool:
        """Start listening (removing a stale server of a crashed instance first)."""
        QLocalServer.removeServer(self.name)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        return bool(self.server.listen(self.name))

    def on_server_new_connection(self) -> None:
        while self.server.hasPendingConnections():
            # The socket stays a child of the server and goes with it: deleting it ourselves
            # (deleteLater on disconnect) crashes PySide when the server is deleted first.
            socket = self.server.nextPendingConnection()
            socket.readyRead.connect(lambda s=socket: self.on_socket_ready_read(s))
            if socket.bytesAvailable():
                self.on_socket_ready_read(socket)

    def on_socket_ready_read(self, socket: QLocalSocket) -> None:
        while socket.canReadLine():
            if bytes(socket.readLine().data()) == SHOW:
                self.activation_requested.emit()

    def close(self) -> None:
        """Stop listening."""
        self.server.close()
