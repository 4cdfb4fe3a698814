"""Looking at trajectories: a static HTML page, and GIF/MP4 videos with the actions drawn in."""

from agent.view.render import render_html
from agent.view.video import VideoUnavailable, write_gif, write_mp4

__all__ = ["VideoUnavailable", "render_html", "write_gif", "write_mp4"]
