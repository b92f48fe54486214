#!/usr/bin/env python3
"""The notes of the media benchmarks (bench/fetch.sh, bench/s3.sh): IMAGES images
and PDFS PDFs of the local media server spread over HOSTS loopback hosts, 100
links a note, written to WORK/notes/; the same URLs as a plain list for aria2c in
WORK/urls.txt.

Usage: media_notes.py WORK IMAGES PDFS HOSTS PORT
"""
import sys

work, images, pdfs, hosts, port = sys.argv[1], *map(int, sys.argv[2:5]), sys.argv[5]
urls = [f"http://127.0.0.{2 + i % hosts}:{port}/img/{i}.png" for i in range(images)]
urls += [f"http://127.0.0.{2 + i % hosts}:{port}/pdf/{i}.pdf" for i in range(pdfs)]
for n in range(0, len(urls), 100):
    with open(f"{work}/notes/note{n // 100:04}.md", "w") as f:
        for u in urls[n:n + 100]:
            f.write(f"![x]({u})\n\n" if u.endswith(".png") else f"[pdf]({u})\n\n")
with open(f"{work}/urls.txt", "w") as f:
    for i, u in enumerate(urls):
        f.write(f"{u}\n  out={i}\n")
