"""How every voxel picture looks: colours and cameras, shared by the figures, the 2D images and the
live view. Imports nothing, so the app's frame can read it on every page for free."""

COLORSCALE = "Viridis"   # of every voxel picture: 2D images, 3D figures and the live view
ONE_COLOUR = "#3f6fb5"   # the "one colour" option: every voxel alike, the shape alone
CAMERA = dict(eye=dict(x=0.9, y=-1.7, z=0.7), up=dict(x=0, y=0, z=1), center=dict(x=0, y=0, z=-0.05))
FRONT_CAMERA = dict(eye=dict(x=0.0, y=-2.1, z=0.0), up=dict(x=0, y=0, z=1), center=dict(x=0, y=0, z=0))
