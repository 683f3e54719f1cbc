// Package fakesmtp is a local SMTP server (emersion/go-smtp) for tests: it
// speaks the real protocol, checks the login, and keeps what arrived.
package fakesmtp

import (
	"errors"
	"io"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one mail as it arrived.
type Message struct {
	From string
	To   []string
	// Header and Body are the parsed message.
	Header mail.Header
	Body   string
}

// Server is a running fake SMTP server.
type Server struct {
	Username, Password string

	srv *smtp.Server
	ln  net.Listener

	mu       sync.Mutex
	messages []Message
	// refuse answers RCPT TO for these addresses with this error.
	refuse map[string]*smtp.SMTPError
}

// Start listens on a free local port.
func Start(username, password string) (*Server, error) {
	s := &Server{Username: username, Password: password, refuse: map[string]*smtp.SMTPError{}}
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.ln = ln
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Addr is host and port.
func (s *Server) Addr() (string, int) {
	host, port, _ := net.SplitHostPort(s.ln.Addr().String())
	n, _ := strconv.Atoi(port)
	return host, n
}

func (s *Server) Close() { _ = s.srv.Close() }

// Refuse answers mail to addr with code (550: permanent, 451: try later).
func (s *Server) Refuse(addr string, code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse[addr] = &smtp.SMTPError{Code: code, Message: msg}
}

// Messages is every mail accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s      *Server
	authed bool
	from   string
	to     []string
}

func (se *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (se *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != se.s.Username || password != se.s.Password {
			return errors.New("invalid username or password")
		}
		se.authed = true
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.s.Username != "" && !se.authed {
		return smtp.ErrAuthRequired
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.s.mu.Lock()
	defer se.s.mu.Unlock()
	if err := se.s.refuse[to]; err != nil {
		return err
	}
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(m.Body)
	if err != nil {
		return err
	}
	se.s.mu.Lock()
	defer se.s.mu.Unlock()
	se.s.messages = append(se.s.messages, Message{From: se.from, To: se.to, Header: m.Header, Body: strings.ReplaceAll(string(body), "\r\n", "\n")})
	return nil
}

func (se *session) Reset()        { se.from, se.to = "", nil }
func (se *session) Logout() error { return nil }
