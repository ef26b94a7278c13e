"""What every Callscope service needs: settings, logging, client factories, event helpers."""
