/*
 * head.S - entry of the test guests.
 *
 * The Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY (18) names _start32, where a
 * PVH loader starts us: 32-bit protected mode, paging off, flat
 * segments, %ebx = the hvm_start_info address.  We build page tables
 * (identity map of the first GiB in 2 MiB pages, plus the local APIC
 * and IOAPIC pages), enter long mode and call guest_main(start_info)
 * in 64-bit C.
 * Interrupts are only ever taken in long mode.
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PTE_P_W     0x003
#define PTE_LARGE   0x080
#define PTE_PCD_PWT 0x018
#define LAPIC_BASE  0xFEE00000
#define IOAPIC_BASE 0xFEC00000

    .section .note.Xen, "a", @note
    .p2align 2
    .long 4                         /* name size: "Xen\0" */
    .long 4                         /* descriptor size */
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .p2align 2
    .long _start32
    .p2align 2

    .section .text.entry, "ax"
    .code32
    .globl _start32
_start32:
    cli
    movl %ebx, start_info_addr
    movl $boot_stack_top, %esp

    movl $pdpt, %eax
    orl $PTE_P_W, %eax
    movl %eax, pml4
    movl $pd_low, %eax
    orl $PTE_P_W, %eax
    movl %eax, pdpt
    movl $pd_high, %eax
    orl $PTE_P_W, %eax
    movl %eax, pdpt + 3 * 8

    /* 64 x 2 MiB: the first 128 MiB */
    movl $pd_low, %edi
    movl $(PTE_P_W | PTE_LARGE), %eax
    movl $64, %ecx
1:  movl %eax, (%edi)
    addl $0x200000, %eax
    addl $8, %edi
    loop 1b

    /* the LAPIC page, uncached: entry (0xFEE00000 >> 21) & 511 */
    movl $(LAPIC_BASE | PTE_P_W | PTE_LARGE | PTE_PCD_PWT), %eax
    movl %eax, pd_high + ((LAPIC_BASE >> 21) & 511) * 8
    /* and the IOAPIC's, at 0xFEC00000 */
    movl $(IOAPIC_BASE | PTE_P_W | PTE_LARGE | PTE_PCD_PWT), %eax
    movl %eax, pd_high + ((IOAPIC_BASE >> 21) & 511) * 8

    movl %cr4, %eax
    orl $0x20, %eax                 /* PAE */
    movl %eax, %cr4
    movl $pml4, %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx          /* EFER */
    rdmsr
    orl $0x100, %eax                /* LME */
    wrmsr
    movl %cr0, %eax
    orl $0x80000000, %eax           /* PG */
    movl %eax, %cr0
    lgdt gdt_desc
    ljmp $0x08, $start64

    .code64
start64:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs
    movq $boot_stack_top, %rsp
    movl start_info_addr, %edi
    call guest_main
2:  cli
    hlt
    jmp 2b

    .section .rodata
    .p2align 3
gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF        /* 0x08: 64-bit code */
    .quad 0x00CF92000000FFFF        /* 0x10: data */
gdt_end:
    .p2align 1
gdt_desc:
    .word gdt_end - gdt - 1
    .long gdt

    .data
    .p2align 2
    .globl start_info_addr
start_info_addr:
    .long 0

    .bss
    .p2align 12
pml4:
    .skip 4096
pdpt:
    .skip 4096
pd_low:
    .skip 4096
pd_high:
    .skip 4096
    .p2align 4
    .skip 8192
    .globl boot_stack_top
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
