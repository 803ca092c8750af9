{#-
    Seed pre-hook, inside the seed's transaction. A --full-refresh drops each seed table with CASCADE, which
    drops the views built on it; the rating views read several seeds, so two seeds reloaded by two dbt
    threads at once could each hold one of those views and wait for the other's (a deadlock seen in
    `dbt build --full-refresh`: destinations against holidays). The lock makes the seeds' drops take turns;
    it is released when the seed's transaction ends. A run without --full-refresh truncates the seeds and
    drops nothing, so it takes no lock.
-#}
{% macro serialize_seed_reloads() -%}
    {%- if flags.FULL_REFRESH %}select pg_advisory_xact_lock(hashtext('telecom.seed_full_refresh')){% endif %}
{%- endmacro %}
