"""The depth theorems of the lectures, computed: piece bounds
(:mod:`pwl.theory.bounds`), the constructions that reach them
(:mod:`pwl.theory.constructions`: Telgarsky's triangle network, sawtooths),
exact distances (:mod:`pwl.theory.distances`), the depth-separation lower
bound against shallow competitors (:mod:`pwl.theory.separation`) and the
growth of pieces with depth (:mod:`pwl.theory.growth`)."""
