# Shared by every agent of the cluster, given as a second -config file.
# Make your own key with `nai operator keygen`: an agent with another key
# cannot join (and `nai agent-info` says so).
encrypt = "zf4foSBliRPnf9olMnl1LBDzxSNCEsupchfdaEnG9fY="
