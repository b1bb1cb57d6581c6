/**
 * A stand-in for Windows' `\bootmgr` in BIOS boot tests: a few dozen bytes of hand-assembled 16-bit real-mode code
 * that prints a marker on COM1 and halts.
 *
 * How it is started (syslinux chain.c32, `ntldr=/bootmgr`, see chain.txt in syslinux-common): `ntldr=` sets
 * `seg=0x2000 setbpb nohand`, i.e. the whole file is loaded at 0x2000:0000 and entered at CS:IP = 0x2000:0000 with
 * DL = the BIOS drive number, and the partition's boot sector (BPB corrected) sits at 0:7C00. The program assumes
 * nothing about DS, SS or SP: it sets DS = SS = CS and its own stack, and finds its message with call/pop, so it
 * works whatever IP it is entered at.
 *
 * Each character waits for the UART's transmitter holding register to be empty (LSR bit 5): QEMU's UART is always
 * ready, and a missing UART reads 0xFF, so the loop never hangs. The UART is not programmed: SeaBIOS leaves COM1 as
 * it found it and QEMU ignores the baud rate.
 */

/** The machine code in front of the message: its length is the message's offset in the file. */
const CODE_LENGTH = 45;
/** Offset of the instruction after `call` (what `pop si` gets, relative to the entry point). */
const CALL_RETURN = 15;

// prettier-ignore
const CODE: readonly number[] = [
  // 0x00 entry
  0xfa,                   // 00  cli
  0x8c, 0xc8,             // 01  mov ax, cs
  0x8e, 0xd8,             // 03  mov ds, ax
  0x8e, 0xd0,             // 05  mov ss, ax
  0xbc, 0xf0, 0xff,       // 07  mov sp, 0xfff0          ; own stack at the top of our 64 KiB segment
  0xfb,                   // 0A  sti
  0xfc,                   // 0B  cld                     ; lodsb counts up
  0xe8, 0x00, 0x00,       // 0C  call 0x0F               ; pushes the address of the next instruction
  0x5e,                   // 0F  pop si                  ; si = IP of 0x0F
  0x83, 0xc6, CODE_LENGTH - CALL_RETURN, // 10  add si, 30   ; si = message (0x2D)
  // 0x13 next:
  0xac,                   // 13  lodsb                   ; al = [ds:si++]
  0x84, 0xc0,             // 14  test al, al
  0x74, 0x11,             // 16  jz halt (0x29)          ; zero terminator
  0x88, 0xc4,             // 18  mov ah, al              ; keep the character
  0xba, 0xfd, 0x03,       // 1A  mov dx, 0x3fd           ; COM1 line status register
  // 0x1D wait:
  0xec,                   // 1D  in al, dx
  0xa8, 0x20,             // 1E  test al, 0x20           ; transmitter holding register empty?
  0x74, 0xfb,             // 20  jz wait (0x1D)
  0x88, 0xe0,             // 22  mov al, ah
  0xb2, 0xf8,             // 24  mov dl, 0xf8            ; dx = 0x3f8, COM1 data register
  0xee,                   // 26  out dx, al
  0xeb, 0xea,             // 27  jmp next (0x13)
  // 0x29 halt:
  0xfa,                   // 29  cli
  0xf4,                   // 2A  hlt
  0xeb, 0xfc,             // 2B  jmp halt (0x29)         ; an NMI would wake hlt: halt again
  // 0x2D message (zero-terminated) follows
];

if (CODE.length !== CODE_LENGTH) throw new Error(`standin-bootmgr: code is ${CODE.length} bytes, expected ${CODE_LENGTH}`);

/**
 * The stand-in bootmgr printing `marker` followed by CR LF on COM1. `marker` must be printable ASCII (no NUL, it
 * terminates the message).
 */
export function standInBootmgr(marker: string): Buffer {
  if (!/^[\x20-\x7e]{1,200}$/.test(marker)) throw new Error(`standInBootmgr: marker must be 1-200 printable ASCII characters`);
  return Buffer.concat([Buffer.from(CODE), Buffer.from(`${marker}\r\n\0`, 'latin1')]);
}
