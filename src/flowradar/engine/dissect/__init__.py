"""L7 dissectors, run only on the first payload-carrying packets of a flow."""
