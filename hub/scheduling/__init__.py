"""Scheduling between request handlers and the engine (torch-free, clock passed in): the fair
queue (Virtual Token Counter), admission (shares, rate limits, queue bounds), the dynamic
batcher, and the scheduler whose worker thread turns them into engine batches."""
