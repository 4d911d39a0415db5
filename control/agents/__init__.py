"""The agents as the control plane sees them: what each one last said it was doing."""
