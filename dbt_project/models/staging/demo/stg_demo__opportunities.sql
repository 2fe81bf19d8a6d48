{{ files_contract_opportunities('demo') }}
