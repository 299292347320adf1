//! String building for the per-request path without `core::fmt`: its
//! machinery is large, and in Wasm a request runs it cold.

/// The parts, joined, in one allocation.
#[inline(never)]
pub fn concat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// Appends `n` in decimal, zero-padded to `width` digits.
pub fn push_padded(out: &mut String, n: u64, width: usize) {
    let mut digits = 1;
    let mut rest = n / 10;
    while rest > 0 {
        digits += 1;
        rest /= 10;
    }
    for _ in digits..width {
        out.push('0');
    }
    push_decimal(out, n);
}

/// Appends `n` in decimal.
pub fn push_decimal(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    for &d in digits.get(i..).unwrap_or(&[]) {
        out.push(char::from(d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_and_writes_numbers() {
        assert_eq!(concat(&["b/", "x", "/dict/", "de"]), "b/x/dict/de");
        assert_eq!(concat(&[]), "");
        for n in [0, 7, 9, 10, 99, 100, 999, 1000, 65_535, u64::MAX] {
            let mut s = String::from(">");
            push_decimal(&mut s, n);
            assert_eq!(s, format!(">{n}"));
            let mut s = String::new();
            push_padded(&mut s, n, 4);
            assert_eq!(s, format!("{n:04}"));
        }
    }
}
