"""An impairment relay: a station's stream sent on to another group through a simulated bad network."""
