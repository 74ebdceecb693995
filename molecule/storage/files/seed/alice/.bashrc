# alice
export PS1="alice$ "
