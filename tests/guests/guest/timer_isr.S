/* timer_isr.S - interrupt entry points of the timer guest (long mode). */
    .text
    .code64
    .globl timer_isr, unexpected_isr
timer_isr:
    pushq %rax
    incl timer_ticks(%rip)
    movabsq $0xFEE000B0, %rax       /* LAPIC EOI */
    movl $0, (%rax)
    popq %rax
    iretq

unexpected_isr:
    call unexpected_interrupt
1:  cli
    hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits
