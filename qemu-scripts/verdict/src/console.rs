//! The guest's console log: was it read whole, and which test case was
//! running when the kernel printed each line. Before each case the guest's
//! runner writes `cardless-tests: case N SUITE.CASE` to /dev/kmsg.

/// The kernel's last words on `poweroff -f`: without them the log was cut.
pub const POWER_OFF: &str = "reboot: Power down";
pub const CASE_LINE: &str = "cardless-tests: case ";

/// A case marker: the serial and the case's name, and its line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseMark {
    pub serial: usize,
    pub name: String,
    pub line_no: usize,
}

/// Every case marker in the console, in order.
pub fn case_marks(console: &str) -> Vec<CaseMark> {
    console
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let rest = &line[line.find(CASE_LINE)? + CASE_LINE.len()..];
            let (serial, name) = rest.trim().split_once(' ')?;
            Some(CaseMark {
                serial: serial.parse().ok()?,
                name: name.trim().to_string(),
                line_no: i + 1,
            })
        })
        .collect()
}

/// The serial of the case running at `line_no` (0: before any case).
pub fn case_at(marks: &[CaseMark], line_no: usize) -> usize {
    marks
        .iter()
        .take_while(|m| m.line_no < line_no)
        .last()
        .map_or(0, |m| m.serial)
}

/// Whether the log reaches the guest's power-off.
pub fn is_complete(console: &str) -> bool {
    console.contains(POWER_OFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_name_the_running_case() {
        let log = "[ 1.0] boot\n[ 2.0] cardless-tests: case 1 a.b\n[ 2.5] x\n[ 3.0] cardless-tests: case 2 a.c\n[ 4.0] WARNING\n[ 9.0] reboot: Power down\n";
        let marks = case_marks(log);
        assert_eq!(marks.len(), 2);
        assert_eq!(marks[1].name, "a.c");
        assert_eq!(case_at(&marks, 1), 0);
        assert_eq!(case_at(&marks, 3), 1);
        assert_eq!(case_at(&marks, 5), 2);
        assert!(is_complete(log));
        assert!(!is_complete("[ 1.0] boot\n"));
    }
}
