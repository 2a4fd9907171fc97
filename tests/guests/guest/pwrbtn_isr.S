/* pwrbtn_isr.S - the SCI entry point of the pwrbtn guest (long mode). */
    .text
    .code64
    .globl sci_isr, pwrbtn_unexpected_isr
sci_isr:
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    call sci_handler
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rax
    iretq

pwrbtn_unexpected_isr:
    call pwrbtn_unexpected
1:  cli
    hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits
