-- A CRM export carries no goals: its objectives come from objectives.yml only.
{{ no_objectives() }}
