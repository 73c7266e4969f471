from clinaudio_gui.cli import main

raise SystemExit(main())
