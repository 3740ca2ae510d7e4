package server

// operatorRoutes are the operator's kit: snapshots (snapshot.go) and the
// raft health autopilot gathers (autopilot.go).
func (s *Server) operatorRoutes() []route {
	return append(s.snapshotRoutes(), s.autopilotRoutes()...)
}
