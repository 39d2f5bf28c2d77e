-- Every month-end balance as known at a run or a moment (fct_month_end_balance_history), on the
-- reporting window's spine as fct_month_end_balances shows it. Pick the state with a var:
--   dbt show -s month_end_balances_as_known_at --vars '{as_known_at_run_id: <run_id>}'
--   dbt show -s month_end_balances_as_known_at --vars '{as_known_at: "2024-04-05 00:00:00"}'
-- Without either var: as known now.
{{ month_end_balances_as_known_at(
    run_id=var('as_known_at_run_id', none), moment=var('as_known_at', none)
) }}
