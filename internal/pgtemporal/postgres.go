// Package pgtemporal runs the production shape of Temporal for tests: a
// throwaway PostgreSQL cluster, Temporal's PostgreSQL schema applied by the
// server module's own schema code, and a Temporal server persisting to it.
package pgtemporal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"
)

// BinDirEnv names a directory holding initdb and postgres, tried first.
const BinDirEnv = "INCIDENTFLOW_POSTGRES_BIN"

// FindBinDir is the directory of PostgreSQL's server binaries (initdb,
// postgres): $INCIDENTFLOW_POSTGRES_BIN, else Debian's
// /usr/lib/postgresql/<version>/bin (15 preferred, else the newest), else
// the directory of an initdb on PATH. It answers "" when there is none.
func FindBinDir() string {
	var candidates []string
	if d := os.Getenv(BinDirEnv); d != "" {
		candidates = append(candidates, d)
	}
	candidates = append(candidates, "/usr/lib/postgresql/15/bin")
	if versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin"); len(versions) > 0 {
		sort.Slice(versions, func(i, j int) bool { return pgVersion(versions[i]) > pgVersion(versions[j]) })
		candidates = append(candidates, versions...)
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, d := range candidates {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			return d
		}
	}
	return ""
}

func pgVersion(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// Postgres is a running throwaway cluster. Temporal connects over TCP on
// 127.0.0.1 as the superuser User, trusted without a password.
type Postgres struct {
	Dir  string
	Port int
	User string
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

// PostgresOptions describes a cluster to start.
type PostgresOptions struct {
	// BinDir holds initdb and postgres (see FindBinDir).
	BinDir string
	// Dir is created if need be and holds data/, the socket and postgres.log.
	// An existing data/ is reused, so a cluster can be started again.
	Dir string
	// Port on 127.0.0.1; 0 picks a free one.
	Port int
}

// PostgresUser is the database superuser initdb creates.
const PostgresUser = "temporal"

// StartPostgres initialises (when new) and starts a cluster, and waits until
// it accepts connections. PostgreSQL refuses to run as root, so as root the
// processes run as the system's "postgres" user (Debian's packages create
// it) and Dir is handed to that user. Stop it with Stop.
func StartPostgres(ctx context.Context, opts PostgresOptions) (*Postgres, error) {
	if opts.BinDir == "" {
		return nil, errors.New("no PostgreSQL binaries (initdb, postgres)")
	}
	var err error
	if opts.Port == 0 {
		if opts.Port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, err
	}
	cred, err := credential(opts.Dir)
	if err != nil {
		return nil, err
	}
	data := filepath.Join(opts.Dir, "data")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		// --no-sync: a throwaway cluster need not survive a power cut during
		// initdb; the server itself keeps fsync on.
		initdb := exec.CommandContext(ctx, filepath.Join(opts.BinDir, "initdb"), "-D", data, "-U", PostgresUser,
			"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
		initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		initdb.Env = append(os.Environ(), "LC_ALL=C")
		if out, err := initdb.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("initdb: %w\n%s", err, out)
		}
	}
	logFile, err := os.OpenFile(filepath.Join(opts.Dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(opts.BinDir, "postgres"), "-D", data,
		"-p", strconv.Itoa(opts.Port), "-k", opts.Dir, "-c", "listen_addresses=127.0.0.1",
		"-c", "max_connections=200", "-c", "shared_buffers=64MB")
	// Its own process group (Stop kills it whole); gone with this process.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	p := &Postgres{Dir: opts.Dir, Port: opts.Port, User: PostgresUser, cmd: cmd, done: make(chan struct{}), log: logFile}
	go func() { _ = cmd.Wait(); close(p.done) }()
	if err := p.waitReady(ctx, opts.BinDir); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

// Addr is host:port for clients.
func (p *Postgres) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)) }

func (p *Postgres) waitReady(ctx context.Context, binDir string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		out, err := exec.CommandContext(ctx, filepath.Join(binDir, "pg_isready"), "-h", "127.0.0.1", "-p", strconv.Itoa(p.Port), "-U", p.User, "-d", "postgres").CombinedOutput()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("postgres exited at start-up:\n%s", p.LogTail())
		case <-ctx.Done():
			return fmt.Errorf("postgres not ready on %s: %s\n%s", p.Addr(), bytes.TrimSpace(out), p.LogTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// LogTail is the end of the server's log, for failure messages.
func (p *Postgres) LogTail() string {
	b, _ := os.ReadFile(filepath.Join(p.Dir, "postgres.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Stop shuts the cluster down (fast shutdown, then SIGKILL of its process
// group after 10 s) and waits for it; safe to call more than once.
func (p *Postgres) Stop() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			// Backends are children of the postmaster, in its process group.
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
	p.log.Close()
}

// credential is nil when not root; as root, the "postgres" user's, with
// dir handed to it.
func credential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL does not run as root and there is no postgres user to run it as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	}); err != nil {
		return nil, err
	}
	// The postgres user must be able to reach dir: nothing is chmod'ed
	// outside it, so put it somewhere world-traversable (os.TempDir()).
	for d := filepath.Dir(dir); d != "/" && d != "."; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return nil, err
		}
		if st.Mode().Perm()&0o001 == 0 {
			return nil, fmt.Errorf("the postgres user cannot reach %s: %s is mode %s; use a directory under a world-traversable one", dir, d, st.Mode().Perm())
		}
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// FreePort is a TCP port free on 127.0.0.1 at the time of asking.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
