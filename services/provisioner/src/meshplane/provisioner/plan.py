"""Pure planning: (event, observed state) -> Plan. No I/O, no broker, no connector."""
