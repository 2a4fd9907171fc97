/*
 * smp_tramp.S - where an AP starts after INIT-SIPI-SIPI: real mode, at
 * the SIPI vector's page (the BSP copies this there).  It counts itself
 * in, says '+' on COM1 and halts.
 */
    .section .rodata
    .code16
    .globl ap_tramp_start, ap_tramp_end, ap_tramp_count
ap_tramp_start:
    cli
    movw %cs, %ax
    movw %ax, %ds
    lock incw ap_tramp_count - ap_tramp_start
    movw $0x3F8, %dx
    movb $'+', %al
    outb %al, %dx
1:  hlt
    jmp 1b
    .p2align 1
ap_tramp_count:
    .word 0
ap_tramp_end:
    .code64

    .section .note.GNU-stack, "", @progbits
