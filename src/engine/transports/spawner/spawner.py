# The spawner process in Python (see CORE-001, "The spawner process"): starts commands for
# nixfleet (local ones' shells, ssh clients) and relays their output, answering the same frames as spawner.pl (whose top describes
# them), but with posix_spawn: the child shares the spawner's memory until it runs the command,
# so nothing of the spawner is copied for it (a fork copies its page tables, and each page either
# process then writes). Started as `python3 -I -S spawner.py`, standard library only, Python 3.8+.
import errno
import os
import select
import signal
import struct
import sys

# Every signal as a new program expects it: Python ignores SIGPIPE and SIGXFSZ, which an exec
# keeps; handled signals (SIGCHLD here, SIGINT's KeyboardInterrupt) fall back to their default.
RESTORED = [signal.SIGPIPE, signal.SIGXFSZ]
signal.signal(signal.SIGINT, signal.SIG_DFL)

# Descriptors whoever started nixfleet left open without close-on-exec (a lock a deploy script
# holds as `exec 200>lock; flock 200`) came through nixfleet to here: they are closed, so no
# command, nothing a command leaves running, and not this process either holds them (CORE-001).
# This process's own descriptors are close-on-exec (Python makes them so), so not closed.
for _fd_directory in ('/proc/self/fd', '/dev/fd'):
    try:
        _names = os.listdir(_fd_directory)
    except OSError:
        continue
    for _fd in map(int, _names):
        if _fd > 2:
            try:
                if os.get_inheritable(_fd):
                    os.close(_fd)
            except OSError:
                pass  # the listing's own descriptor, closed since
    break

# SIGCHLD wakes the loop: Python writes to this pipe when the signal arrives, so an exit just
# before `poll` is seen there, not missed until the next event.
wake_r, wake_w = os.pipe()
os.set_blocking(wake_r, False)
os.set_blocking(wake_w, False)
signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
signal.signal(signal.SIGCHLD, lambda signum, frame: None)

REQUESTS = sys.stdin.fileno()
REPLIES = sys.stdout.fileno()
BASE_ENV = dict(os.environb)
commands = {}  # id -> {'pid', 'gate', 'input', 'output', 'errors', 'exited'}
by_pid = {}
by_output = {}  # fd -> (id, 'output' or 'errors')
by_gate = {}  # fd -> id, while input waits to be written
poller = select.epoll()
poller.register(REQUESTS, select.EPOLLIN)
poller.register(wake_r, select.EPOLLIN)


def reply(kind, command_id, payload=b''):
    frame = kind + struct.pack('>I', command_id) + payload
    data = memoryview(struct.pack('>I', len(frame)) + frame)
    while data:
        try:
            data = data[os.write(REPLIES, data):]
        except BlockingIOError:
            select.select([], [REPLIES], [])
        except OSError:
            os._exit(0)  # nixfleet is gone


def errno_name(error):
    return errno.errorcode.get(error.errno, 'E%d' % error.errno).encode()


def program(file, env):
    """The file to run: found on the command's PATH when it names no directory, as execvp does."""
    if b'/' in file:
        return file
    for directory in env.get(b'PATH', os.defpath.encode()).split(b':'):
        candidate = os.path.join(directory or b'.', file)
        if os.access(candidate, os.X_OK) and not os.path.isdir(candidate):
            return candidate
    return file  # posix_spawn then fails with ENOENT, as exec would


def start(command_id, mode, file, cwd, args, env, log):
    # What Node's spawn refuses before any process exists, refused the same way.
    if any(b'\0' in part for part in [file, cwd, log or b''] + args + env):
        return reply(b'f', command_id, b'ERR_INVALID_ARG_VALUE')
    variables = dict(BASE_ENV)
    for i in range(0, len(env), 2):
        variables[env[i]] = env[i + 1]
    split = mode == b'P'
    fds = []
    try:
        for _ in range(0 if log is not None else 3 if split else 2):
            fds.extend(os.pipe())
    except OSError as error:
        for fd in fds:
            os.close(fd)
        return reply(b'f', command_id, errno_name(error))
    if log is not None:
        # Mode L (an ssh master): no pipe for it to hold while it lives on in the background.
        gate_r = gate_w = out_r = out_w = err_r = err_w = None
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, b'/dev/null', os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, b'/dev/null', os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, log, os.O_WRONLY | os.O_APPEND, 0),
        ]
    else:
        gate_r, gate_w, out_r, out_w = fds[:4]
        err_r, err_w = fds[4:] if split else (None, out_w)
        actions = [
            (os.POSIX_SPAWN_DUP2, gate_r, 0),
            (os.POSIX_SPAWN_DUP2, out_w, 1),
            (os.POSIX_SPAWN_DUP2, err_w, 2),
        ]
    try:
        # The command starts in `cwd`: the spawner moves there (no other command is started
        # meanwhile), and the next command moves where it starts. The pipes are close-on-exec;
        # dup2 hands the command its stdin (the gate) and one pipe for stdout and stderr (or one
        # each).
        os.chdir(cwd)
        pid = os.posix_spawn(
            program(file, variables),
            [file] + args,
            variables,
            file_actions=actions,
            setsid=True,
            setsigdef=RESTORED,
            setsigmask=[],
        )
    except OSError as error:
        for fd in fds:
            os.close(fd)
        return reply(b'f', command_id, errno_name(error))
    for fd in (gate_r, out_w, err_w) if split else (gate_r, out_w):
        if fd is not None:
            os.close(fd)
    command = {'pid': pid, 'gate': gate_w, 'input': b'', 'output': out_r, 'errors': err_r, 'exited': False}
    commands[command_id] = command
    by_pid[pid] = command_id
    for which in () if log is not None else ('output', 'errors') if split else ('output',):
        os.set_blocking(command[which], False)
        by_output[command[which]] = (command_id, which)
        poller.register(command[which], select.EPOLLIN)
    reply(b's', command_id, struct.pack('>I', pid))


def finish(command_id):
    """'d' follows 'e': nixfleet forgets a command at 'd'."""
    command = commands.get(command_id)
    if command is None or command['output'] is not None or command['errors'] is not None or not command['exited']:
        return
    close_input(command_id)
    del commands[command_id]
    reply(b'd', command_id)


def close_output(command_id, *which):
    command = commands[command_id]
    for name in which:
        fd = command[name]
        if fd is None:
            continue
        poller.unregister(fd)
        del by_output[fd]
        os.close(fd)
        command[name] = None
    finish(command_id)


def read_output(command_id, which):
    try:
        chunk = os.read(commands[command_id][which], 65536)
    except BlockingIOError:
        return
    if chunk:
        reply(b'o' if which == 'output' else b'r', command_id, chunk)
    else:
        close_output(command_id, which)


def write_input(command_id):
    """What `feed` gave, written as the command reads it: a slow reader never holds up the spawner."""
    command = commands[command_id]
    try:
        written = os.write(command['gate'], command['input'])
    except BlockingIOError:
        written = 0
    except OSError:
        written = len(command['input'])  # the command is gone; its exit says so
    command['input'] = command['input'][written:]
    fd = command['gate']
    if command['input'] and fd not in by_gate:
        by_gate[fd] = command_id
        poller.register(fd, select.EPOLLOUT)
    elif not command['input'] and fd in by_gate:
        del by_gate[fd]
        poller.unregister(fd)


def close_input(command_id):
    command = commands[command_id]
    fd = command['gate']
    if fd is None:
        return
    if by_gate.pop(fd, None) is not None:
        poller.unregister(fd)
    os.close(fd)
    command['gate'] = None
    command['input'] = b''


def reap():
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        command_id = by_pid.pop(pid, None)
        if command_id is None:
            continue
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 0xFFFFFFFF
        signal_number = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
        commands[command_id]['exited'] = True
        reply(b'e', command_id, struct.pack('>II', code, signal_number))
        finish(command_id)


def strings(frame, offset, count):
    values = []
    for _ in range(count):
        (length,) = struct.unpack_from('>I', frame, offset)
        values.append(frame[offset + 4:offset + 4 + length])
        offset += 4 + length
    return values, offset


def handle_request(frame):
    kind = frame[0:1]
    (command_id,) = struct.unpack_from('>I', frame, 1)
    if kind == b'S':
        mode = frame[5:6]
        (file, cwd), offset = strings(frame, 6, 2)
        (count,) = struct.unpack_from('>I', frame, offset)
        args, offset = strings(frame, offset + 4, count)
        (count,) = struct.unpack_from('>I', frame, offset)
        env, offset = strings(frame, offset + 4, 2 * count)
        log = strings(frame, offset, 1)[0][0] if mode == b'L' else None
        start(command_id, mode, file, cwd, args, env, log)
        return
    command = commands.get(command_id)
    if command is None:
        return
    if kind == b'G' and command['gate'] is not None:
        try:
            os.write(command['gate'], b'\n')
        except OSError:
            pass  # the shell is gone already; its exit says so
        close_input(command_id)
    elif kind == b'F' and command['gate'] is not None:
        os.set_blocking(command['gate'], False)
        command['input'] += frame[5:]
        write_input(command_id)
    elif kind == b'C':
        close_input(command_id)
    elif kind == b'X':
        close_output(command_id, 'output', 'errors')


pending = b''


def read_requests():
    global pending
    try:
        chunk = os.read(REQUESTS, 65536)
    except BlockingIOError:
        return
    # nixfleet is gone: a command still behind its gate reads end-of-file and never starts;
    # running ones are the lifeline's (CORE-011).
    if not chunk:
        os._exit(0)
    pending += chunk
    offset = 0
    while len(pending) - offset >= 4:
        (length,) = struct.unpack_from('>I', pending, offset)
        if len(pending) - offset - 4 < length:
            break
        handle_request(pending[offset + 4:offset + 4 + length])
        offset += 4 + length
    pending = pending[offset:]


def main():
    while True:
        for fd, _ in poller.poll():
            if fd == wake_r:
                try:
                    while os.read(wake_r, 4096):
                        pass
                except BlockingIOError:
                    pass
                reap()
            elif fd == REQUESTS:
                read_requests()
            elif fd in by_output:
                read_output(*by_output[fd])
            elif fd in by_gate:
                write_input(by_gate[fd])


try:
    main()
except Exception as error:  # one line for nixfleet's stderr, not a traceback; nixfleet stops what it carried
    os.write(2, ('nixfleet spawner: %s\n' % error).encode())
    os._exit(70)
