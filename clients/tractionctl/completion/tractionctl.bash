# bash completion for tractionctl. The candidates come from tractionctl
# itself (`tractionctl __complete WORD...`, from its command table): nouns,
# verbs, options, the values an option lists, and the ids of providers,
# supplies, scenarios and deployments asked of the running set (with the
# --endpoint and keys on the line, or $TRACTION_ENDPOINT ...).
# Installed as share/bash-completion/completions/tractionctl; without the
# bash-completion package, source it from ~/.bashrc.
_tractionctl() {
  local IFS=$'\n'
  # shellcheck disable=SC2207
  COMPREPLY=($("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
# -o default: a file name where tractionctl offers nothing (DIR, FILE)
complete -o default -F _tractionctl tractionctl
