package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/nai-project/nai/fsm"
	"github.com/nai-project/nai/structs"
)

// Calls between servers (a blob copy, a holding recorded on the leader)
// carry the servers' shared secret, which lives in raft: the door then
// knows the caller is a server.

// scheme is how this server calls other agents: https when TLS is on.
func (s *Server) scheme() string {
	if s.tls != nil {
		return "https"
	}
	return "http"
}

// serverSecret is the servers' shared secret, "" until the first leader
// made one.
func (s *Server) serverSecret() string {
	meta, err := s.State().Snapshot().ACLMeta()
	if err != nil {
		return ""
	}
	return meta.ServerSecret
}

// ServerSecret is the servers' shared secret ("" until the first leader
// made it). An agent that is both server and client registers its node
// with it.
func (s *Server) ServerSecret() string { return s.serverSecret() }

// peerDo sends a request to another server as a server.
func (s *Server) peerDo(req *http.Request) (*http.Response, error) {
	if sec := s.serverSecret(); sec != "" {
		req.Header.Set("Authorization", "Bearer "+sec)
	}
	req.Header.Set(ForwardedHeader, s.cfg.NodeName)
	return s.peerClient.Do(req)
}

// ensureServerSecret makes the servers' shared secret once, on the first
// leader. The secret is chosen here, before raft, so applying stays
// deterministic.
func (s *Server) ensureServerSecret() error {
	if s.serverSecret() != "" {
		return nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	_, _, err := s.apply(fsm.ServerSecret, &structs.ServerSecretRequest{Secret: base64.RawURLEncoding.EncodeToString(b)})
	return err
}

// leaderWrite applies a message on the leader: here when this server
// leads, else through the leader's route for it (a servers-only route),
// found as forwarding finds it.
func (s *Server) leaderWrite(ctx context.Context, t fsm.MessageType, method, path string, req any) error {
	if s.cluster == nil || s.IsLeader() {
		_, _, err := s.apply(t, req)
		if err == nil || s.cluster == nil || structs.CodeOf(err) != structs.CodeNotLeader {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, leaderWait+s.cfg.ApplyTimeout)
	defer cancel()
	leader, err := s.leaderHTTP(ctx)
	if err != nil {
		return err
	}
	if leader == nil { // we became leader while waiting
		_, _, err := s.apply(t, req)
		return err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode %s: %w", t, err)
	}
	hr, err := http.NewRequestWithContext(ctx, method, leader.String()+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", t, err)
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := s.peerDo(hr)
	if err != nil {
		return structs.NewError(structs.CodeUnavailable, "%s through the leader: %v", t, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return nil
	}
	var eb structs.ErrorBody
	if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&eb) == nil && eb.Error != nil {
		return eb.Error
	}
	return structs.NewError(structs.CodeUnavailable, "%s through the leader: %s", t, resp.Status)
}
