"""The Slack edge: the Bolt app and its listeners' registration, ids, Socket Mode, request signature and shape checks,
text conventions (escape, links, mentions), and the gateway the delivery engine sends through."""
