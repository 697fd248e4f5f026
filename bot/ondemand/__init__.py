"""On-demand workflow tests, pure: matrix legs, their states, a session's conclusion, the check run and the reply."""
