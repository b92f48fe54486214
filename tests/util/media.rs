//! The bytes the fetch tests serve: files that start as their type says, with
//! filler that depends on a seed so that no two fixtures share a hash by accident.

/// A file that starts like its type says, then `len` bytes of filler that
/// depend on `seed`, so two fixtures never share a hash by accident.
pub fn file(magic: &[u8], seed: u8, len: usize) -> Vec<u8> {
    let mut bytes = magic.to_vec();
    bytes.extend((0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    bytes
}

pub fn png(seed: u8) -> Vec<u8> {
    file(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", seed, 2000)
}

pub fn jpeg() -> Vec<u8> {
    file(b"\xff\xd8\xff\xe0\0\x10JFIF\0", 2, 3000)
}

pub fn gif() -> Vec<u8> {
    file(b"GIF89a\x01\0\x01\0", 3, 500)
}

pub fn webp() -> Vec<u8> {
    file(b"RIFF\x24\0\0\0WEBPVP8 ", 4, 700)
}

pub fn pdf() -> Vec<u8> {
    file(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", 5, 9000)
}

/// A PNG of `width`×`height` (as its header says), with filler after.
pub fn png_sized(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend(width.to_be_bytes());
    bytes.extend(height.to_be_bytes());
    bytes.extend([8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde]);
    bytes.extend((0..1500).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed)));
    bytes
}

/// A PNG a browser decodes: `width`×`height` pixels of one colour.
pub fn png_decodable(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    use std::io::Write;
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend(u32::try_from(data.len()).unwrap().to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend(kind);
        out.extend(data);
        out.extend(crc.sum().to_be_bytes());
    }
    let mut header = Vec::new();
    header.extend(width.to_be_bytes());
    header.extend(height.to_be_bytes());
    header.extend([8, 2, 0, 0, 0]);
    let row: Vec<u8> = std::iter::once(0)
        .chain((0..width).flat_map(|_| rgb))
        .collect();
    let mut pixels = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    for _ in 0..height {
        pixels.write_all(&row).unwrap();
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut png, b"IHDR", &header);
    chunk(&mut png, b"IDAT", &pixels.finish().unwrap());
    chunk(&mut png, b"IEND", &[]);
    png
}
