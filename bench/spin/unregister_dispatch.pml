/*
 * race-unregister-dispatch on emmu-v2 (scenarios/race-unregister-dispatch.json,
 * patches/emmu-v2.json), as mmbisect's explorer runs it: the same threads, the
 * same atomic segments (each d_step runs from one scheduling point of the
 * explorer's preemptive mode, a lock acquisition, to the next), the shared
 * state those segments read and write, and the same assertion (a dispatch
 * calls the ops of a notifier whose struct mmu_notifier was freed).
 *
 * cpu (NTRUNC of them, 1 in the scenario): truncate of "data" to 0 pages,
 *   vmtruncate(): unmap_mapping_range -> zap_page_range -> invalidate_range
 *   callout at after_tlb_finish (emmu-v2), dispatched under rcu_read_lock over
 *   a copy of mm A's list (hlist_for_each_entry): gru0 (the head), then kvm0;
 *   then truncate_inode_pages(), then the same unmap_mapping_range walk again
 *   (v2.6.24 mm/memory.c:1935-1937). truncate_inode_pages() is no segment of
 *   its own: it runs in the one that ends the first walk, since its page lock
 *   (TestSetPageLocked in its first pass) is never held across a scheduling
 *   point here: a truncator holds it over one only to unmap a mapped page, and
 *   every truncator's first walk has zapped the one pte before it gets there.
 *   Each walk takes the pte lock: unmap_vmas() takes it wherever the page table
 *   exists (the touch allocated it and truncation frees no table), pte or not.
 * drv: mmu_notifier_unregister(kvm0) (emmu-v2: mmap_sem for write,
 *   hlist_del_rcu, no synchronize_rcu), the driver frees kvm0, then KVM's
 *   ->release (kvm_arch_flush_shadow under kvm->mmu_lock).
 *
 * Left out, as they decide nothing in this race: page reference counts, rss,
 * the kernel's counters, the callout trace, the checkers' other memory, and
 * the empty shadow page table and GRU TLB the callbacks flush. A lock an
 * explorer thread finds held gives it one more point ("wait <lock>"); here the
 * segment is simply not executable until the lock is free.
 *
 * Result: the assertion fails (use-after-free reachable), as the explorer's
 * verdict "use-after-free sometimes" says.
 */
#ifndef NTRUNC
#define NTRUNC 1
#endif

#define GRU 0
#define KVM 1

/* Scheduling points of a cpu: where its next segment starts. */
#define P_START 0
#define P_IMMAP 1 /* lock i_mmap_lock:data */
#define P_PTL   2 /* lock ptl:A:0 */
#define P_RCU   3 /* lock rcu_read_lock */
#define P_GRU   4 /* lock gru_tlb_lock:gru0 */
#define P_KVM   5 /* lock kvm->mmu_lock:kvm0 */
#define P_DONE  6

/* Scheduling points of drv. */
#define D_START 0
#define D_SEM   1 /* lock mmap_sem:A */
#define D_KVM   2 /* lock kvm->mmu_lock:kvm0 */
#define D_DONE  3

bool listed[2] = 1; /* on mm A's notifier list (both registered before the race) */
bool freed[2];      /* struct mmu_notifier freed by its driver */
bool pte = 1;       /* the pte of 0x100000 (data page 0, touched before the race) */
bool cached = 1;    /* data page 0 in the page cache */
bool table = 1;     /* mm A's page table for 0x100000 (never freed in this race) */
byte kvm_seq;       /* kvm0's mmu_notifier_seq */
/* Lock owners (thread number + 1, 0 when free); rcu counts its readers. */
byte immap;
byte ptl;
byte gru_tlb;
byte kvm_lock;
byte mmap_sem;
byte rcu;

/* mmu_notifier(invalidate_range) at zap_page_range:after_tlb_finish: no lock when nobody listens. */
inline dispatch_entry() {
  if
  :: listed[GRU] || listed[KVM] -> pc = P_RCU
  :: else -> truncate_end()
  fi
}

/*
 * The end of an unmap_mapping_range walk: unlock i_mmap_lock; after the first,
 * truncate_inode_pages() drops the page and the second walk starts (its
 * i_mmap_lock is the next point); after the second, the truncate is done.
 */
inline truncate_end() {
  immap = 0;
  if
  :: !second -> cached = 0; second = 1; pc = P_IMMAP
  :: else -> pc = P_DONE
  fi
}

/* hlist_for_each_entry over the copy, from entry i: the next callback's lock point, or the end. */
inline walk() {
  do
  :: i == 2 -> rcu--; truncate_end(); break
  :: i < 2 && !copy[i] -> i++
  :: i < 2 && copy[i] && freed[i] ->
     /* use-after-free: calls the ops of a freed notifier (reported, the entry skipped) */
     assert(!freed[i]);
     i++
  :: i < 2 && copy[i] && !freed[i] ->
     if
     :: i == GRU -> pc = P_GRU
     :: else -> pc = P_KVM
     fi;
     i++;
     break
  od;
  skip /* the loop's exit stays inside the caller's d_step */
}

active [NTRUNC] proctype cpu() {
  byte me = _pid + 1;
  byte pc = P_START;
  bool copy[2];
  byte i;
  bool second; /* in vmtruncate()'s second unmap_mapping_range */
  do
  :: d_step { pc == P_START -> pc = P_IMMAP }
  :: d_step { pc == P_IMMAP && immap == 0 ->
       immap = me;
       if
       :: table -> pc = P_PTL
       :: else -> dispatch_entry() /* no page table: unmap_vmas takes no ptl */
       fi }
  :: d_step { pc == P_PTL && ptl == 0 ->
       ptl = me; pte = 0; ptl = 0;
       dispatch_entry() }
  :: d_step { pc == P_RCU ->
       rcu++;
       copy[GRU] = listed[GRU]; copy[KVM] = listed[KVM];
       i = 0;
       walk() }
  :: d_step { pc == P_GRU && gru_tlb == 0 -> gru_tlb = me; gru_tlb = 0; walk() }
  :: d_step { pc == P_KVM && kvm_lock == 0 -> kvm_lock = me; kvm_seq++; kvm_lock = 0; walk() }
  :: pc == P_DONE -> break
  od
}

active proctype drv() {
  byte me = NTRUNC + 1;
  byte pc = D_START;
  do
  :: d_step { pc == D_START -> pc = D_SEM }
  :: d_step { pc == D_SEM && mmap_sem == 0 ->
       mmap_sem = me; listed[KVM] = 0; mmap_sem = 0;
       freed[KVM] = 1; /* the driver frees its struct on return */
       pc = D_KVM }
  :: d_step { pc == D_KVM && kvm_lock == 0 -> kvm_lock = me; kvm_lock = 0; pc = D_DONE }
  :: pc == D_DONE -> break
  od
}
