{#- Fails for values that are not a non-empty, comma-separated list of known validation codes in
    the canonical order, each at most once (the order comes from validation_codes()). -#}
{% test valid_validation_error(model, column_name) %}
    select {{ column_name }}
    from {{ model }}
    where
        {{ column_name }} is not null
        and (
            {{ column_name }} = ''
            or {{ column_name }} like '%,'
            or not {{ regex_matches(column_name, validation_error_pattern()) }}
        )
{% endtest %}
