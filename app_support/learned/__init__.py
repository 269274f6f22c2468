"""What did it learn?: what every view shares (`context`), the table of views (`views`) and one
module per view (`receptive`, `features`, `occlusion`, `embed`, `adversarial`)."""
