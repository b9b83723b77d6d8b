# The spawner process in Perl (see CORE-001, "The spawner process"): starts commands for
# nixfleet (local ones' shells, ssh clients) and relays their output, like spawner-process.ts, but forks from a process of a few
# megabytes with nothing between fork and exec but the exec's own set-up. Only perl-base modules.
#
# Frames both ways: a 32-bit big-endian length, then that many bytes.
#   nixfleet -> here, on stdin:  S id mode file cwd nargs args... nenv (name value)... [log]
#                                (start; mode M: stdout and stderr on one pipe, P: a pipe each,
#                                L: no pipes, stdin and stdout on /dev/null, stderr appended to
#                                the existing file `log`)
#                                G id (go) | F id bytes (feed) | C id (cancel) | X id (close)
#   here -> nixfleet, on stdout: s id pid (spawned) | f id errno-name (failed)
#                                o id bytes (output; stdout with mode P) | r id bytes (stderr, mode P)
#                                e id code signal-number (exit) | d id (output ended)
# Numbers are 32-bit big-endian; strings are a 32-bit length and their bytes.
use strict;
use warnings;
use Errno ();
use POSIX ();

# Descriptors whoever started nixfleet left open without close-on-exec (a lock a deploy script
# holds as `exec 200>lock; flock 200`) came through nixfleet to here: closed before this opens
# anything, so no command, and nothing a command leaves running, holds them (CORE-001). Perl's
# own are close-on-exec.
for my $directory ('/proc/self/fd', '/dev/fd') {
  opendir(my $listing, $directory) or next;
  my @inherited = grep { /^\d+$/ && $_ > 2 } readdir $listing;
  closedir $listing;
  POSIX::close($_) for @inherited;    # the listing's own is closed already: EBADF, ignored
  last;
}

$SIG{PIPE} = 'IGNORE';
binmode STDIN;
binmode STDOUT;

# SIGCHLD wakes the select loop through a pipe: Perl runs the handler between operations, so a child
# that ends just before `select` is seen there, not missed until the next event.
pipe(my $wake_r, my $wake_w) or die "pipe: $!";
nonblocking($wake_r);
nonblocking($wake_w);
$SIG{CHLD} = sub { syswrite $wake_w, 'x' };

my $NO_SIGNALS = POSIX::SigSet->new;
my %commands;    # id -> { pid, gate, input, output, errors, exec_status, exited, failed }
my %by_pid;      # pid -> id
my $requests = '';

sub nonblocking {
  my ($handle) = @_;
  my $flags = fcntl($handle, POSIX::F_GETFL(), 0) or die "fcntl: $!";
  fcntl($handle, POSIX::F_SETFL(), $flags | POSIX::O_NONBLOCK()) or die "fcntl: $!";
}

sub reply {
  my ($type, $id, $payload) = @_;
  my $frame = $type . pack('N', $id) . ($payload // '');
  my $bytes = pack('N', length $frame) . $frame;
  while (length $bytes) {
    my $written = syswrite STDOUT, $bytes;
    if (!defined $written) {
      next if $!{EINTR} || $!{EAGAIN};
      exit 0;    # nixfleet is gone
    }
    substr($bytes, 0, $written, '');
  }
}

sub errno_name {
  my ($number) = @_;
  local $! = $number;
  for my $name (keys %!) { return $name if $!{$name} }
  return "E$number";
}

sub start {
  my ($id, $split, $file, $cwd, $args, $env, $log) = @_;
  # What Node's spawn refuses before any process exists, refused the same way (a C string ends at NUL).
  return reply('f', $id, 'ERR_INVALID_ARG_VALUE') if grep { index($_, "\0") >= 0 } $file, $cwd, $log // '', @$args, @$env;
  my ($gate_r, $gate_w, $out_r, $out_w, $err_r, $err_w, $status_r, $status_w);
  my $pipes = defined $log || (pipe($gate_r, $gate_w) && pipe($out_r, $out_w) && (!$split || pipe($err_r, $err_w)));
  if (!($pipes && pipe($status_r, $status_w))) {
    my $code = errno_name($! + 0);
    close $_ for grep { defined } $gate_r, $gate_w, $out_r, $out_w, $err_r, $err_w, $status_r;
    return reply('f', $id, $code);
  }
  # The command's variables are laid over the spawner's own environment around the fork, and
  # taken off again when `start` returns: the child then has nothing to build before exec.
  my %variables = @$env;
  local @ENV{keys %variables} = values %variables;
  my $pid = fork;
  if (!defined $pid) {
    my $code = errno_name($! + 0);
    close $_ for grep { defined } $gate_r, $gate_w, $out_r, $out_w, $err_r, $err_w, $status_r, $status_w;
    return reply('f', $id, $code);
  }
  if ($pid == 0) {
    # The child: its own session and process group, every signal as a new program expects it,
    # the gate on stdin, one pipe for stdout and stderr (or one each). Perl's pipes are
    # close-on-exec, so only these three descriptors reach the command (and the status pipe,
    # until exec).
    # As little Perl as can be runs here: each page of the spawner the child writes to is
    # copied first, and undoing every entry of %SIG and rebuilding %ENV here made each command
    # cost half a millisecond more (CORE-001). Node starts the spawner with every signal at its
    # default, exec drops the SIGCHLD handler, so SIGPIPE is the one disposition to undo.
    POSIX::setsid();
    $SIG{PIPE} = 'DEFAULT';
    POSIX::sigprocmask(POSIX::SIG_SETMASK(), $NO_SIGNALS);
    my $ready;
    if (defined $log) {
      # Mode L (an ssh master): no pipe for it to hold while it lives on in the background.
      my $null = POSIX::open('/dev/null', POSIX::O_RDWR());
      my $appended = POSIX::open($log, POSIX::O_WRONLY() | POSIX::O_APPEND());
      $ready = defined $null && defined $appended && POSIX::dup2($null, 0) && POSIX::dup2($null, 1) && POSIX::dup2($appended, 2);
      POSIX::close($_) for grep { defined && $_ > 2 } $null, $appended;    # only 0, 1 and 2 reach ssh
    } else {
      $ready = POSIX::dup2(fileno $gate_r, 0) && POSIX::dup2(fileno $out_w, 1) && POSIX::dup2(fileno($err_w // $out_w), 2);
    }
    if ($ready && chdir $cwd) {
      no warnings 'exec';    # the failure goes back on the status pipe, not into the output
      exec { $file } $file, @$args;
    }
    syswrite $status_w, errno_name($! + 0);
    POSIX::_exit(127);
  }
  close $_ for grep { defined } $gate_r, $out_w, $err_w, $status_w;
  nonblocking($_) for grep { defined } $out_r, $err_r;
  $commands{$id} = { pid => $pid, gate => $gate_w, input => '', output => $out_r, errors => $err_r, exec_status => $status_r };
  $by_pid{$pid} = $id;
}

# The exec's outcome: end-of-file on the status pipe means the command's program is running.
sub read_exec_status {
  my ($id) = @_;
  my $command = $commands{$id};
  my $status = '';
  while (1) {
    my $read = sysread $command->{exec_status}, my $chunk, 256;
    next if !defined $read && $!{EINTR};
    last if !$read;
    $status .= $chunk;
  }
  close delete $command->{exec_status};
  if ($status eq '') {
    reply('s', $id, pack('N', $command->{pid}));
    return;
  }
  # It never ran: nothing but the failure is reported, and the child is reaped without a word.
  $command->{failed} = 1;
  close_input($id);
  close delete $command->{$_} for grep { $command->{$_} } 'output', 'errors';
  reply('f', $id, $status);
}

# `which` is 'output' (replied as 'o') or 'errors' ('r').
sub read_output {
  my ($id, $which) = @_;
  my $command = $commands{$id};
  my $read = sysread $command->{$which}, my $chunk, 65536;
  return if !defined $read && ($!{EINTR} || $!{EAGAIN});
  if ($read) {
    reply($which eq 'output' ? 'o' : 'r', $id, $chunk);
    return;
  }
  close_output($id, $which);
}

sub close_output {
  my ($id, @which) = @_;
  my $command = $commands{$id};
  close delete $command->{$_} for grep { $command->{$_} } @which;
  finish($id);
}

# What `feed` gave, written as the command reads it: a command that reads slowly, or not at all,
# never holds up the spawner.
sub write_input {
  my ($id) = @_;
  my $command = $commands{$id};
  my $written = syswrite $command->{gate}, $command->{input};
  if (!defined $written) {
    return if $!{EINTR} || $!{EAGAIN};
    $command->{input} = '';    # the command is gone; its exit says so
    return;
  }
  substr($command->{input}, 0, $written, '');
}

sub close_input {
  my ($id) = @_;
  my $command = $commands{$id};
  return if !$command->{gate};
  close delete $command->{gate};
  $command->{input} = '';
}

# 'd' follows 'e': nixfleet forgets a command at 'd'.
sub finish {
  my ($id) = @_;
  my $command = $commands{$id};
  return if $command->{output} || $command->{errors} || !defined $command->{exited};
  close_input($id);
  delete $commands{$id};
  reply('d', $id) if !$command->{failed};
}

sub reap {
  while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) {
    my $id = delete $by_pid{$pid};
    next if !defined $id;
    my $status = $?;
    read_exec_status($id) if $commands{$id}{exec_status};
    my $command = $commands{$id};
    if ($command->{failed}) {
      delete $commands{$id};
      next;
    }
    my $code = POSIX::WIFEXITED($status) ? POSIX::WEXITSTATUS($status) : 0xFFFFFFFF;
    my $signal = POSIX::WIFSIGNALED($status) ? POSIX::WTERMSIG($status) : 0;
    $command->{exited} = 1;
    reply('e', $id, pack('NN', $code, $signal));
    finish($id);
  }
}

sub take_string {
  my ($buffer) = @_;
  my $length = unpack('N', substr($$buffer, 0, 4, ''));
  return substr($$buffer, 0, $length, '');
}

sub handle_request {
  my ($frame) = @_;
  my $type = substr($frame, 0, 1, '');
  my $id = unpack('N', substr($frame, 0, 4, ''));
  if ($type eq 'S') {
    my $mode = substr($frame, 0, 1, '');
    my $file = take_string(\$frame);
    my $cwd = take_string(\$frame);
    my @args = map { take_string(\$frame) } 1 .. unpack('N', substr($frame, 0, 4, ''));
    my @env = map { take_string(\$frame) } 1 .. 2 * unpack('N', substr($frame, 0, 4, ''));
    start($id, $mode eq 'P', $file, $cwd, \@args, \@env, $mode eq 'L' ? take_string(\$frame) : undef);
    return;
  }
  my $command = $commands{$id} or return;
  if ($type eq 'G' && $command->{gate}) {
    syswrite $command->{gate}, "\n";
    close_input($id);
  } elsif ($type eq 'F' && $command->{gate}) {
    nonblocking($command->{gate});
    $command->{input} .= $frame;
    write_input($id);
  } elsif ($type eq 'C') {
    close_input($id);
  } elsif ($type eq 'X') {
    close_output($id, 'output', 'errors');
  }
}

sub read_requests {
  my $read = sysread STDIN, $requests, 65536, length $requests;
  return if !defined $read && $!{EINTR};
  # nixfleet is gone: a command still behind its gate reads end-of-file and never starts; running
  # ones are the lifeline's (CORE-011).
  exit 0 if !$read;
  while (length $requests >= 4) {
    my $length = unpack('N', $requests);
    last if length $requests < 4 + $length;
    substr($requests, 0, 4, '');
    handle_request(substr($requests, 0, $length, ''));
  }
}

while (1) {
  my ($readable, $writable) = ('', '');
  vec($readable, fileno STDIN, 1) = 1;
  vec($readable, fileno $wake_r, 1) = 1;
  for my $command (values %commands) {
    for my $handle (grep { $_ } @$command{'output', 'errors', 'exec_status'}) {
      vec($readable, fileno $handle, 1) = 1;
    }
    vec($writable, fileno $command->{gate}, 1) = 1 if $command->{gate} && length $command->{input};
  }
  # Linux's select takes descriptors past 1,024; a system whose select refuses them ends the
  # spawner here, and nixfleet stops what it carried (CORE-001), rather than spinning.
  my ($found, $ready) = ($readable, $writable);
  if (select($found, $ready, undef, undef) < 0) {
    next if $!{EINTR};
    die "nixfleet spawner: select: $!\n";
  }
  if (vec($found, fileno $wake_r, 1)) {
    1 while sysread $wake_r, my $drained, 4096;
    reap();
  }
  for my $id (keys %commands) {
    my $command = $commands{$id} or next;
    read_exec_status($id) if $command->{exec_status} && vec($found, fileno $command->{exec_status}, 1);
    for my $which ('output', 'errors') {
      $command = $commands{$id} or last;
      read_output($id, $which) if $command->{$which} && vec($found, fileno $command->{$which}, 1);
    }
    $command = $commands{$id} or next;
    write_input($id) if $command->{gate} && length $command->{input} && vec($ready, fileno $command->{gate}, 1);
  }
  read_requests() if vec($found, fileno STDIN, 1);
}
